"""Stand-in for the get-pip script ansible-test downloads (its host is not reachable here).

ansible-test runs it as ``python get_pip.py --disable-pip-version-check pip==X [--no-setuptools] [--no-wheel]``
with a stripped environment. We bootstrap pip from the interpreter's bundled wheel, then install the
requested pip version from the configured index.
"""
import ensurepip
import os
import subprocess
import sys


def main(argv):
    ensurepip.bootstrap(upgrade=True)
    # ensurepip leaves PIP_CONFIG_FILE=/dev/null behind, which would hide /etc/pip.conf and its CA setting.
    for name in ("PIP_CONFIG_FILE", "ENSUREPIP_OPTIONS"):
        os.environ.pop(name, None)
    args = [arg for arg in argv if arg not in ("--no-setuptools", "--no-wheel")]
    return subprocess.call([sys.executable, "-m", "pip", "install", *args])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
