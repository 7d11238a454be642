from xbot.cli import main

main()
