from xsdump.cli import main

main()
