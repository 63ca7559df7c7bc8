import io

import pandas as pd

from e2e_ml.core.spreadsheet import spreadsheet_csv


def test_formula_like_text_is_defused_and_numbers_are_left_alone():
    frame = pd.DataFrame(
        {
            "file": ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "2026/01/05/a.csv"],
            "score": [-0.5, 1.0, 2.0, 3.0, 4.0],
        }
    )
    back = pd.read_csv(io.BytesIO(spreadsheet_csv(frame)))
    assert back["file"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "2026/01/05/a.csv",
    ]
    assert back["score"].tolist() == [-0.5, 1.0, 2.0, 3.0, 4.0]
