from switchboard.entry import main

main()
