"""``python -m losslandscape`` and the ``losslandscape`` command: :mod:`losslandscape.cli`."""

from losslandscape.cli import main

if __name__ == "__main__":
    main()
