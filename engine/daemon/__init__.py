"""A lofi.nvim-compatible generation daemon: JSON-RPC 2.0, one JSON object per line on stdin/stdout."""
