"""The AWX execution environment definition: ansible-builder accepts it and its context carries the collection."""
import os
import subprocess
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_ansible_builder_create_succeeds():
    proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "build-ee.sh")], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    context = os.path.join(ROOT, "build", "ee", "context")
    with open(os.path.join(context, "Containerfile"), encoding="utf-8") as handle:
        containerfile = handle.read()
    assert "ansible-core==2.19.14" in containerfile
    with open(os.path.join(context, "_build", "requirements.txt"), encoding="utf-8") as handle:
        python_requirements = handle.read()
    for package in ("aliyun-python-sdk-ecs", "aliyun-python-sdk-vpc", "alibabacloud-rds20140815", "psycopg2-binary"):
        assert package in python_requirements
    with open(os.path.join(context, "_build", "bindep.txt"), encoding="utf-8") as handle:
        assert "sshpass" in handle.read()
    tarball = os.path.join(context, "_build", "ee-collections", "computenest-mlflow.tar.gz")
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert "MANIFEST.json" in names
    assert "meta/execution-environment.yml" in names
