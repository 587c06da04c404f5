"""Command modules: each defines register(subparsers); ffbench.cli discovers them."""
