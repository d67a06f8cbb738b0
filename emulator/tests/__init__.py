"""The emulator's own tests (a package, so that its conftest.py is not the importable module \"conftest\" that
the project's tests/conftest.py is)."""
