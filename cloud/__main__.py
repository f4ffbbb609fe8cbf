"""``python -m cloud``: the cloud's command line (:mod:`cloud.cli`)."""

from cloud.cli import main

if __name__ == "__main__":
    main()
