from crmtui.cli import main

main()
