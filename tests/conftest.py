import sys


def pytest_terminal_summary(terminalreporter):
    """Print what test modules counted (say, how many random graphs they compared)."""
    for name, module in sorted(sys.modules.items()):
        if name.rpartition(".")[2].startswith("test_"):
            for line in getattr(module, "RUN_SUMMARY", lambda: [])():
                terminalreporter.write_line(line)
