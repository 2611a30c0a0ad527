"""Runs *inside the pyBKT peer environment* (never imported by Pathwise).

``python _pybkt_replay_driver.py TRAIN.csv TEST.csv OUT.csv SEED NUM_FITS``: fits pyBKT's
standard BKT on TRAIN (columns order_id, user_id, skill_name, correct, row) and writes
``row,p`` with pyBKT's one-step ``correct_predictions`` for every TEST row.
"""

import sys

import pandas as pd
from pyBKT.models import Model


def main() -> int:
    train_path, test_path, out_path, seed, num_fits = sys.argv[1:6]
    train = pd.read_csv(train_path)
    test = pd.read_csv(test_path)
    model = Model(seed=int(seed), num_fits=int(num_fits), parallel=False)
    model.fit(data=train)
    pred = model.predict(data=test)
    pred[["row", "correct_predictions"]].rename(columns={"correct_predictions": "p"}).to_csv(
        out_path, index=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
