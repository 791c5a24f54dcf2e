"""Run the showdown (rnn_core.showdown) and record it as an artifact.

    python scripts/showdown.py              # the full run (about 25 minutes on 2 CPU cores)
    python scripts/showdown.py --quick      # a tiny run, to check the script
"""
from rnn_core.showdown import main

if __name__ == "__main__":
    main()
