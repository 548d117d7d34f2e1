"""``python -m skhyper``: the demo (tune a net on load_digits, compare with GridSearchCV)."""

from ._demo import main

if __name__ == "__main__":
    main()
