"""The CTranslate2 ISA choice made before it loads (tandem.edge.isa)."""

from __future__ import annotations

import subprocess
import sys

from tandem.edge.isa import AVX512_FLAGS, choose_isa, cpu_info

AMD = "AuthenticAMD"


def test_avx512_is_forced_only_on_amd_parts_that_have_it():
    assert choose_isa(AMD, set(AVX512_FLAGS) | {"avx2"}, {}) == "AVX512"
    assert choose_isa(AMD, {"avx2", "avx512f"}, {}) is None  # incomplete AVX-512 set
    assert choose_isa("GenuineIntel", set(AVX512_FLAGS), {}) is None  # CTranslate2 already picks it there


def test_user_settings_win():
    assert choose_isa(AMD, set(AVX512_FLAGS), {"CT2_FORCE_CPU_ISA": "AVX2"}) is None
    assert choose_isa(AMD, set(AVX512_FLAGS), {"TANDEM_CT2_ISA": "default"}) is None


def test_cpu_info_reads_a_cpuinfo_file(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu avx2 avx512f\n\nprocessor\t: 1\n")
    assert cpu_info(str(f)) == (AMD, {"fpu", "avx2", "avx512f"})
    assert cpu_info(str(tmp_path / "missing")) == ("", set())


def test_configure_sets_the_variable_before_ctranslate2_loads():
    code = (
        "import os, sys; from tandem.edge.isa import configure_ct2_isa, choose_isa, cpu_info;"
        "want = choose_isa(*cpu_info(), dict(os.environ)); got = configure_ct2_isa();"
        "assert got == want and 'ctranslate2' not in sys.modules;"
        "assert (os.environ.get('CT2_FORCE_CPU_ISA') == want) if want else True;"
        "import ctranslate2; assert configure_ct2_isa() is None"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "CT2_FORCE_CPU_ISA"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_edge_install_pulls_no_torch():
    """`pip install tandem[edge]`: the base requirements plus the edge extra name no torch."""
    from importlib.metadata import requires

    reqs = requires("tandem") or []
    needed = [r for r in reqs if "extra ==" not in r or 'extra == "edge"' in r]
    names = {
        r.split(";")[0].split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
        for r in needed
    }
    assert "ctranslate2" in names and "sentencepiece" in names
    assert not names & {"torch", "transformers", "safetensors"}, names
