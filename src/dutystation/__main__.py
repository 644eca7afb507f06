from dutystation.cli import main

main()
