"""``python -m losslandscape.settings``: write (or ``--check``) the generated config files."""

from losslandscape.settings.generate import main

if __name__ == "__main__":
    main()
