import sys

try:
    from xsdump.cli import main
except KeyboardInterrupt:  # SIGINT while starting up: no traceback, the shell's status for it
    sys.exit(130)

main()
