"""Lesson 3.5's exercise: how often to checkpoint, from the two costs of
saving and of redoing work."""


# --8<-- [start:ex1]
def lost_fraction(minutes: float, save_minutes: float, mtbf_h: float) -> float:
    """Time spent saving, plus half an interval redone per failure."""
    return save_minutes / minutes + (minutes / 2) / (60 * mtbf_h)


def ex1() -> None:
    mtbf_h = 54 * 24 / 419  # hours between unexpected interruptions
    print(f"one unexpected interruption every {mtbf_h:.1f} h")
    best = min(range(1, 600), key=lambda m: lost_fraction(m, 1, mtbf_h))
    for minutes in (5, 15, best, 60, 240):  # a save stalls for 1 minute
        lost = lost_fraction(minutes, 1, mtbf_h)
        print(f"save every {minutes:3} min: {lost:.1%} of the time lost")


# --8<-- [end:ex1]


def main() -> None:
    # --8<-- [start:ex1-run]
    ex1()
    # --8<-- [end:ex1-run]


if __name__ == "__main__":
    main()
