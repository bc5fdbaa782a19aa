"""What a user gets from ``pip install``: the sdist, the wheel built from it, installed.

Everything here runs on what the build produced, never on the source tree: a clean copy
of the tree (the files git tracks or would track, none of the local build output) is
built with the Dockerfile's own build command (``python -m build``: an sdist, then a
wheel from that sdist, each in pip's isolated build environment), the wheel goes into a
fresh venv, and the commands run from a folder outside the checkout.

Then the same tree built without a C compiler on PATH: one line says so, the wheel is
plain Python, and the installed commands still work. And the type check mypyc compiles
from sees the same types with and without the runtime packages installed, so the
generated C is the same inside and outside build isolation (setup.py says why).
"""

from __future__ import annotations

import filecmp
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
DOCKERFILE = (REPO / "Dockerfile").read_text()
DEMO_RECORDS = 2000

pytestmark = pytest.mark.timeout(900)


def _run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout_s: float = 600
) -> str:
    """Runs a command; its combined output, or a failure that shows it."""
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, f"{shlex.join(argv)} exited {done.returncode}:\n{done.stdout}"
    return done.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without this test run's switches (a user's shell has none)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGCAST_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


def _clean_copy(destination: Path) -> Path:
    """The tree as a clone has it: files git tracks or would track, nothing it ignores."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():  # a file deleted in the work tree is still "cached"
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def dockerfile_build_command() -> list[str]:
    """The build stage's ``python -m build ...`` command, as the image runs it."""
    match = re.search(r"^RUN .*?&& (python -m build [^\n&]+)$", DOCKERFILE, flags=re.M)
    assert match is not None, "the Dockerfile's build stage runs no `python -m build`"
    return shlex.split(match.group(1))


def _new_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin"


@dataclass
class Built:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clean_copy(tmp_path_factory.mktemp("tree"))


@pytest.fixture(scope="module")
def built(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The sdist and the wheel, built by the Dockerfile's command on the clean copy."""
    dist = tmp_path_factory.mktemp("dist")
    argv = dockerfile_build_command()
    outdir = argv.index("--outdir") + 1
    argv[outdir] = str(dist)
    argv[0] = sys.executable  # `python` of the image: this run's interpreter, with build
    _run(argv, cwd=tree, env=_clean_env())
    (sdist,) = dist.glob("regcast-*.tar.gz")
    (wheel,) = dist.glob("regcast-*.whl")
    return Built(sdist, wheel)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv holding the wheel and its dependencies: its bin folder."""
    bin_dir = _new_venv(tmp_path_factory.mktemp("venv") / "venv")
    _run([str(bin_dir / "pip"), "install", "--quiet", str(built.wheel)], cwd=built.wheel.parent)
    yield bin_dir


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder with no regcast.toml and no checkout above it."""
    return tmp_path_factory.mktemp("outside")


def test_the_dockerfile_builds_with_the_pinned_build_tool() -> None:
    assert dockerfile_build_command()[:3] == ["python", "-m", "build"]
    pinned = next(r for r in PYPROJECT["project"]["optional-dependencies"]["dev"] if "build" in r)
    assert f"pip install --no-cache-dir {pinned} &&" in DOCKERFILE


def test_the_sdist_carries_the_build_and_the_demos_schemas(built: Built) -> None:
    import tarfile

    with tarfile.open(built.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for needed in (
        "setup.py",
        "pyproject.toml",
        "MANIFEST.in",
        "producer/native.py",
        "regcast.toml",
        "schemas/avro/order.avsc",
        "schemas/protobuf/order.proto",
        "schemas/protobuf/common/types.proto",
    ):
        assert needed in names, needed


def test_the_wheel_is_compiled_for_this_platform_and_carries_the_examples(built: Built) -> None:
    assert built.wheel.name.startswith(f"regcast-{VERSION}-cp3")
    assert not built.wheel.name.endswith("-none-any.whl"), built.wheel.name
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
    assert any(re.fullmatch(r"producer/_native__mypyc\..*\.so", n) for n in names), names
    assert "regcast/examples/regcast.toml" in names
    assert "regcast/examples/schemas/protobuf/order.proto" in names
    assert not any(n.startswith("tests/") for n in names)


def test_installed_packages_import_from_the_venv_with_the_compiled_hot_path(
    installed: Path, outside: Path
) -> None:
    probe = (
        "import producer, serdes, registry_service, regcast\n"
        "from producer import native\n"
        "for package in (producer, serdes, registry_service, regcast):\n"
        "    print(package.__name__, package.__version__, package.__file__)\n"
        "print('compiled', native.is_compiled())\n"
    )
    out = _run([str(installed / "python"), "-c", probe], cwd=outside, env=_clean_env())
    site = installed.parent / "lib"
    for package in ("producer", "serdes", "registry_service", "regcast"):
        line = next(line for line in out.splitlines() if line.startswith(f"{package} "))
        _, version, path = line.split(" ", 2)
        assert version == VERSION, line
        assert Path(path).is_relative_to(site), f"{package} imported from {path}, not the venv"
    assert "compiled True" in out


def test_installed_commands_help_version_and_demo(installed: Path, outside: Path) -> None:
    regcast = str(installed / "regcast")
    listed = _run([regcast, "--help"], cwd=outside, env=_clean_env())
    assert re.search(r"^\s+demo\s", listed, flags=re.M), listed  # the demo command is listed
    version = _run([regcast, "--version"], cwd=outside, env=_clean_env())
    assert version.startswith(f"regcast {VERSION} (producer hot path: compiled with mypyc;")
    demo = _run([regcast, "demo", "--records", str(DEMO_RECORDS)], cwd=outside, env=_clean_env())
    assert "demo finished" in demo, demo
    assert f"{DEMO_RECORDS:,}" in demo or str(DEMO_RECORDS) in demo, demo


def _generate_c(tree: Path, python: Path, copy: Path) -> Path:
    """The C mypyc generates for ``tree`` under ``python`` (``setup.py --name`` runs it)."""
    shutil.copytree(tree, copy)
    _run([str(python), "setup.py", "--name"], cwd=copy, env=_clean_env())
    return copy / "build"


def test_the_generated_c_is_the_same_with_and_without_build_isolation(
    tree: Path, tmp_path: Path
) -> None:
    # pip's isolated build environment: the build requirements and nothing else
    isolated = _new_venv(tmp_path / "isolated")
    requires = PYPROJECT["build-system"]["requires"]
    _run([str(isolated / "pip"), "install", "--quiet", *requires], cwd=tmp_path)
    bare = _generate_c(tree, isolated / "python", tmp_path / "bare")
    # a developer's venv: every runtime package, with its type information
    full = _generate_c(tree, Path(sys.executable), tmp_path / "full")
    sources = sorted(p.relative_to(bare) for p in bare.rglob("*.[ch]"))
    assert sources, "mypyc generated no C"
    assert sources == sorted(p.relative_to(full) for p in full.rglob("*.[ch]"))
    differing = [str(p) for p in sources if not filecmp.cmp(bare / p, full / p, shallow=False)]
    assert not differing, f"generated C depends on the installed packages: {differing}"


def test_without_a_c_compiler_it_installs_as_plain_python_and_says_so(
    tree: Path, outside: Path, tmp_path: Path
) -> None:
    bin_dir = _new_venv(tmp_path / "venv")
    assert shutil.which("gcc", path=str(bin_dir)) is None
    no_compiler = _clean_env(PATH=str(bin_dir))  # the venv's bin: python and pip only
    copy = shutil.copytree(tree, tmp_path / "tree")
    out = _run(
        [str(bin_dir / "pip"), "wheel", "-v", "--no-deps", "--wheel-dir", str(tmp_path), "."],
        cwd=copy,
        env=no_compiler,
    )
    notices = [line.strip() for line in out.splitlines() if line.strip().startswith("regcast:")]
    assert notices == [
        "regcast: no C compiler (gcc) on PATH: the producer's hot path is installed as plain Python"
    ], notices
    (wheel,) = tmp_path.glob("regcast-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".so")]
    _run([str(bin_dir / "pip"), "install", "--quiet", str(wheel)], cwd=tmp_path, env=no_compiler)
    regcast = str(bin_dir / "regcast")
    version = _run([regcast, "--version"], cwd=outside, env=no_compiler)
    assert "producer hot path: plain Python (not compiled at install" in version, version
    demo = _run([regcast, "demo", "--records", str(DEMO_RECORDS)], cwd=outside, env=no_compiler)
    assert "demo finished" in demo, demo
