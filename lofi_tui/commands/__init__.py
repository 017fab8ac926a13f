"""One module per ``lofi`` subcommand (or group of closely related subcommands)."""
