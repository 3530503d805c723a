from nebsign.cli import main

main()
