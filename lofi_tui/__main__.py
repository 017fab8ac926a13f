from lofi_tui.cli import main

main()
