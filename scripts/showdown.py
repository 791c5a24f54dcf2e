"""Run the showdown (rnn_core.showdown) and record it as an artifact.

    python scripts/showdown.py                  # the whole race, one single-threaded process
    python scripts/showdown.py --quick          # a tiny run, to check the script

The recorded race ran as two parts side by side (one thread each) and merged:

    python scripts/showdown.py --tasks adding --output showdown_part_adding.json --dir DIR
    python scripts/showdown.py --tasks copy reber --output showdown_part_copy_reber.json --dir DIR
    python scripts/showdown.py --merge showdown_part_adding.json showdown_part_copy_reber.json \
        --dir DIR --output showdown.json        # then copy DIR/showdown.json to rnn_core/artifacts/
"""
from rnn_core.showdown import main

if __name__ == "__main__":
    main()
