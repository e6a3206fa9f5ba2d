"""Benchmark scripts in --quick mode: well-formed tables with positive numbers. No timing assertions."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import pytest

from benchmarks import common
from conftest import run_cli


def test_flop_count_of_a_dense_layer_is_2mnk():
    m, n, k = 128, 256, 64
    compiled = jax.jit(lambda a, b: a @ b).lower(jnp.ones((m, k)), jnp.ones((k, n))).compile()
    assert common.compiled_flops(compiled) == 2 * m * n * k


def test_the_machine_header_names_a_cpu_by_its_host_and_an_accelerator_by_its_kind():
    from fmnist_jax import environment

    header = common.machine_header("t")
    assert header.startswith("# t: CPU (") and " cores), jax " in header and "cpu cpu" not in header
    gpu = {"platform": "gpu", "device_kind": "NVIDIA H200", "device_count": 1, "host_cpu": "Xeon", "host_cores": 16}
    assert environment.device_name(gpu) == "1x NVIDIA H200 (host Xeon x16 cores)"


def test_provenance_names_the_cpu_s_family_model_and_widest_vector_instructions():
    from fmnist_jax import environment

    # Two first blocks of /proc/cpuinfo as these VMs print them (flags shortened): the AMD EPYC of
    # 2026-12-07 (Zen 3, AVX2 only) and the Intel Xeon of 2026-12-06 (AVX-512 and AMX).
    amd = "processor\t: 0\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx fma avx2\n\n"
    intel = "processor\t: 0\ncpu family\t: 6\nmodel\t\t: 207\nflags\t\t: sse2 avx avx2 avx512f amx_tile\n"
    second = "processor\t: 1\ncpu family\t: 99\nmodel\t\t: 9\nflags\t\t: avx512f\n"
    assert environment.cpu_signature(amd + second) == {"family_model": "25/1", "vector_isa": "avx2"}
    assert environment.cpu_signature(intel) == {"family_model": "6/207", "vector_isa": "amx"}
    machine = environment.provenance()["machine"]
    assert machine["cpu_vector_isa"] in {name for _, name in environment.VECTOR_ISAS} | {"unknown"}


def test_provenance_records_the_named_commit_of_a_copied_tree_instead_of_its_git(monkeypatch):
    from fmnist_jax import environment

    monkeypatch.delenv(environment.COMMIT_ENV_VAR, raising=False)
    assert environment.provenance()["git_commit"] != "unknown (not a git checkout)"  # this checkout's own
    monkeypatch.setenv(environment.COMMIT_ENV_VAR, "1686880")
    made = environment.provenance()
    assert made["git_commit"].startswith("1686880 ") and made["git_dirty"] is None and not made["git_changed_files"]


def test_provenance_counts_the_compiles_jax_s_persistent_cache_answered():
    import time

    from fmnist_jax import environment

    def counts() -> tuple[int, int]:
        cache = environment.provenance()["compilation_cache"]
        assert cache["dir"] == str(jax.config.jax_compilation_cache_dir)  # the tests run with one (conftest)
        return cache["requests_in_this_process"], cache["hits_in_this_process"]

    ones = jnp.ones(3).block_until_ready()
    requests, hits = counts()
    unique = float(time.time_ns() % 1_000_003)  # a program no cache holds yet
    jax.jit(lambda x: x * unique + 1.0)(ones).block_until_ready()
    assert counts() == (requests + 1, hits)  # compiled, then written to the cache
    jax.jit(lambda x: x * unique + 1.0)(ones).block_until_ready()  # another function, the same program
    again_requests, again_hits = counts()
    # A hit where the cache can load on this machine (jax-ml/jax#38445: some CPUs reject every entry).
    assert again_requests == requests + 2 and again_hits in (hits, hits + 1)


def test_programs_timed_in_turns_each_thread_their_own_state_and_time_every_round():
    # Two "epochs" of different cost, each adding one to its state: after the compile call and 3 rounds
    # every state moved 4 times (its own, donated and threaded through), and every round has a time each.
    cheap = jax.jit(lambda state, images, labels: (state + 1, jnp.sum(images)))
    dear = jax.jit(lambda state, images, labels: (state + 1, jnp.sum(jnp.sin(images) @ jnp.sin(images).T)))
    images = jnp.ones((256, 256))
    programs = [(cheap, jnp.zeros(3)), (dear, jnp.full(3, 10.0))]
    timings, states = common.time_epochs_in_turns(programs, images, None, rounds=3)
    assert [len(timing.epoch_s) for timing in timings] == [3, 3]
    assert [float(state[0]) for state in states] == [4.0, 14.0]
    assert all(seconds > 0 for timing in timings for seconds in (timing.first_epoch_s, *timing.epoch_s))


def test_throughput_quick_writes_a_well_formed_table(tmp_path):
    result = run_cli("benchmarks.throughput", "--quick", "--ensemble_models=lenet5", f"--out={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    table = [line for line in result.stdout.splitlines() if line.startswith("| lenet5 | 32 |")]
    assert len(table) == 1
    assert any(line.startswith("mlp batch 32: ") for line in result.stdout.splitlines())  # a line per row, as measured
    document = json.loads((tmp_path / "throughput.json").read_text())
    assert "benchmarks.throughput --quick" in document["provenance"]["command"]
    rows = document["rows"]
    main_rows = [row for row in rows if "batch_size" in row]
    assert {row["model"] for row in main_rows} == {"lenet5", "mlp"}
    ensemble_rows = [row for row in rows if "members" in row]
    assert [(row["model"], row["members"]) for row in ensemble_rows] == [("lenet5", 1), ("lenet5", 2)]
    for row in ensemble_rows:  # paired with one member's epochs of the same rounds: a median inside its range
        assert 0 < row["speedup_vs_sequential_min"] <= row["speedup_vs_sequential"] <= row["speedup_vs_sequential_max"]
    assert ensemble_rows[0]["program"] == "single" and ensemble_rows[1]["program"] == "interleave"
    for row in main_rows:
        for field in (
            "compile_s",
            "step_ms_median",
            "epoch_step_ms",
            "images_per_s",
            "eval_images_per_s",
            "train_flops",
        ):
            assert row[field] > 0, field
        assert row["step_ms_p10"] <= row["step_ms_median"] <= row["step_ms_p90"]
        # On a CPU the peak is the matmul rate measured at the start: a train step reaches part of it.
        assert 0 < row["fraction_of_peak"] < 1.5, row["fraction_of_peak"]
    assert "GFLOP/s (measured fp32 matmul" in result.stdout or "data sheet" in result.stdout
    assert (tmp_path / "throughput.csv").read_text().count("\n") == len(rows) + 1
    assert (tmp_path / "throughput.png").stat().st_size > 10_000


def test_ensemble_scaling_times_a_members_program_against_one_member_in_the_same_rounds(tmp_path):
    args = ["--configs=b_lenet5", "--members=2", "--programs=interleave", "--num_examples=128", "--repeats=2"]
    result = run_cli("benchmarks.ensemble_scaling", *args, f"--out={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| b_lenet5 | 64 | auto | 2 | interleave 4 |" in result.stdout
    document = json.loads((tmp_path / "ensemble_scaling.json").read_text())
    assert "benchmarks.ensemble_scaling" in document["provenance"]["command"]
    (row,) = document["rows"]
    setting = (row["config"], row["members"], row["program"], row["interleaved_members"])
    assert setting == ("b_lenet5", 2, "interleave", 4)
    # A per-round ratio: its median inside its range; "separate" is twice one member's median epoch.
    assert 0 < row["ratio_min"] <= row["ratio"] <= row["ratio_max"]
    assert row["epoch_s"] > 0 and row["separate_s"] > 0 and row["images_per_s"] > 0


def test_torch_reference_models_match_our_param_counts():
    pytest.importorskip("torch", reason="PyTorch is not installed (the bench extra)")
    from benchmarks import torch_models

    assert sum(p.numel() for p in torch_models.lenet5().parameters()) == 61_706
    assert sum(p.numel() for p in torch_models.cnn_a().parameters()) == 225_034
    assert sum(p.numel() for p in torch_models.cnn_d().parameters()) == 6_484_330
    assert sum(p.numel() for p in torch_models.block_cnn().parameters()) == 870_746  # cnn5, as configs/e_cnn5.py


def test_compare_runs_both_frameworks_on_a_slice(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is not installed (the bench extra)")
    result = run_cli(
        "benchmarks.compare",
        "--models=lenet5",
        "--batch_sizes=64",
        "--train_limit=640",
        "--torch_compile=false",  # compiling takes ~30 s; BENCHMARKS.md has its numbers
        "--repeats=2",
        "--min_timed_s=0.5",
        f"--out={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads((tmp_path / "compare.json").read_text())["rows"]
    assert row["jax_images_per_s"] > 0 and row["torch_images_per_s"] > 0
    low, high = row["jax_images_per_s_range"]
    assert row["repeats"] == 2 and low <= row["jax_images_per_s"] <= high
    # The ratio repeat by repeat: its median lies within its own range, which the ratio of medians need not.
    paired_low, paired_high = row["jax_over_torch_paired_range"]
    assert 0 < paired_low <= row["jax_over_torch_paired"] <= paired_high
    # Steady epochs are timed until they add up to --min_timed_s: at 640 images (10 steps) that is several.
    assert row["jax_steady_epochs"] > 1 and row["torch_steady_epochs"] > 1
    # Charging JAX's compile to its two epochs lowers its speed: the second ratio is the honest one for short runs.
    assert 0 < row["jax_images_per_s_with_compile"] < row["jax_images_per_s"]
    assert row["jax_first_epoch_images_per_s"] > 0 and row["torch_first_epoch_images_per_s"] > 0
    assert row["jax_over_torch_with_compile"] > 0
    assert 0.0 <= row["jax_test_accuracy"] <= 1.0 and 0.0 <= row["torch_test_accuracy"] <= 1.0


def test_time_to_accuracy_on_a_slice_reports_the_epoch_each_target_was_reached(tmp_path):
    result = run_cli(
        "benchmarks.time_to_accuracy",
        "--configs=b_lenet5",
        "--split=val",
        "--targets=0.3,0.999",
        "--max_epochs=2",
        "--train_limit=1500",
        f"--out={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads((tmp_path / "time_to_accuracy.json").read_text())["rows"]
    assert row["epochs_run"] == 2 and len(row["accuracy_per_epoch"]) == 2  # 99.9 % is never reached: no early exit
    first = next(epoch for epoch, acc in enumerate(row["accuracy_per_epoch"], 1) if acc >= 0.3)
    assert row["epoch_to_0.3"] == first and 0 < row["s_to_0.3"] <= row["train_s"]
    assert row["s_to_0.999"] is None and row["compile_s"] > 0
    assert "| b_lenet5 |" in result.stdout and "not reached" in result.stdout


def test_profile_epoch_attributes_the_traced_ops_to_the_model_s_layers(tmp_path):
    result = run_cli(
        "benchmarks.profile_epoch",
        "--config=b_lenet5",
        "--steps=4",
        "--repeats=1",
        "--top=5",
        f"--trace_dir={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert list(tmp_path.rglob("*.xplane.pb")), "the trace is kept for TensorBoard / Perfetto"
    module_rows = [line.split("|") for line in result.stdout.splitlines() if line.startswith("| LeNet5/")]
    modules = {row[1].strip(): (float(row[2]), float(row[3])) for row in module_rows}
    # Both convolutions run forward and backward; their time is found in the trace and attributed to them.
    for conv in ("LeNet5/Conv_0", "LeNet5/Conv_1"):
        forward_ms, backward_ms = modules[conv]
        assert forward_ms > 0 and backward_ms > 0, conv


def test_profile_epoch_reads_module_and_pass_from_op_names():
    from benchmarks import hlo_profile

    op_name = "jit(train_epoch)/while/body/closed_call/transpose(jvp(LeNet5))/MLPHead_0/Dense_1/dot_general"
    assert hlo_profile.module_of(op_name) == "LeNet5/MLPHead_0/Dense_1"
    assert hlo_profile.is_backward(op_name)
    assert hlo_profile.module_of("jit(train_epoch)/while/body/jvp(LeNet5)/select_n") == "LeNet5"
    assert hlo_profile.module_of("jit(train_epoch)/while/body/add") == "(outside the model)"
    assert not hlo_profile.is_backward("jit(train_epoch)/while/body/jvp(LeNet5)/Conv_0/dot_general")


@pytest.mark.extended  # 22 CPU-s: a process per XLA setting
def test_xla_flags_times_each_setting_in_its_own_process_against_the_default(tmp_path):
    setting = "--xla_cpu_prefer_vector_width=512"
    args = ["--configs=b_lenet5", "--num_examples=640", "--repeats=1", "--rounds=1", f"--out={tmp_path}"]
    result = run_cli("benchmarks.xla_flags", *args, f"--settings={setting}")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((tmp_path / "xla_flags.json").read_text())["rows"]
    # The default is added when not asked for: every ratio is taken against it.
    assert [row["setting"] for row in rows] == ["(default)", setting]
    assert rows[0]["vs_default"] == 1.0 and all(row["images_per_s"] > 0 for row in rows)
    # A flag XLA does not know stops the run with one line that names the setting.
    result = run_cli("benchmarks.xla_flags", *args, "--settings=--xla_cpu_no_such_flag=1")
    assert result.returncode != 0 and "XLA_FLAGS='--xla_cpu_no_such_flag=1' failed" in result.stderr


def test_layer_compare_finds_every_weighted_layer_with_the_input_shape_it_sees_in_training():
    from benchmarks import model_layers
    from fmnist_jax.models import build_model

    config = common.load_config("b_lenet5")
    calls = model_layers.layer_calls(build_model(config), batch_size=16)
    assert [(c.path, c.describe(), c.first) for c in calls] == [
        ("LeNet5/Conv_0", "conv 5x5 1->6 at 28x28 same", True),
        ("LeNet5/Conv_1", "conv 5x5 6->16 at 14x14 valid", False),
        ("LeNet5/MLPHead_0/Dense_0", "dense 400->120", False),
        ("LeNet5/MLPHead_0/Dense_1", "dense 120->84", False),
        ("LeNet5/MLPHead_0/Dense_2", "dense 84->10", False),
    ]


@pytest.mark.parametrize(("config_name", "index"), [("baseline", 1), ("baseline", 2), ("e_cnn5", 0)])
def test_layer_compare_counts_the_flops_xla_executes_for_a_layer_s_forward_and_backward(config_name, index):
    # im2col convolutions and dense layers are their matmuls plus the bias and col2im adds (a few % on a
    # 1-channel input, whose matmuls are short);
    # the first layer has no input gradient, so two matmuls instead of three.
    from benchmarks import model_layers
    from fmnist_jax.models import build_model

    config = common.load_config(config_name)
    config.conv_impl = "im2col"
    layer = model_layers.layer_calls(build_model(config), batch_size=8)[index]
    inputs = jnp.ones(layer.input_shape)
    params = layer.module.init(jax.random.PRNGKey(0), inputs)
    cotangent = jnp.ones(jax.eval_shape(layer.module.apply, params, inputs).shape)
    if layer.first:
        program = lambda p, x: jax.vjp(lambda q: layer.module.apply(q, x), p)  # noqa: E731
    else:
        program = lambda p, x: jax.vjp(layer.module.apply, p, x)  # noqa: E731
    forward_backward = jax.jit(lambda p, x: (lambda out, pull: (out, pull(cotangent)))(*program(p, x)))
    xla_flops = common.compiled_flops(forward_backward.lower(params, inputs).compile())
    assert xla_flops == pytest.approx(layer.matmul_flops(), rel=0.05)


def test_layer_compare_times_both_frameworks_and_splits_the_step_into_layers_and_the_rest(tmp_path):
    pytest.importorskip("torch", reason="PyTorch is not installed (the bench extra)")
    result = run_cli(
        "benchmarks.layer_compare",
        "--models=lenet5",
        "--batch_sizes=32",
        "--repeats=1",
        "--inner_steps=1",
        "--step_images=320",
        f"--out={tmp_path}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((tmp_path / "layer_compare.json").read_text())["rows"]
    layer_rows, (summary,) = rows[:-1], rows[-1:]
    assert len(layer_rows) == 5 and all(r["jax_ms"] > 0 and r["torch_ms"] > 0 for r in layer_rows)
    assert summary["jax_ms"] == pytest.approx(sum(r["jax_ms"] for r in layer_rows))
    for framework in ("jax", "torch"):
        assert summary[f"{framework}_step_ms"] > 0
        assert summary[f"{framework}_rest_ms"] == pytest.approx(
            summary[f"{framework}_step_ms"] - summary[f"{framework}_ms"]
        )
    assert "| lenet5 | 32 | LeNet5/Conv_1 | conv 5x5 6->16 at 14x14 valid |" in result.stdout


def test_a_benchmark_reads_its_provenance_once_so_its_own_rewritten_outputs_do_not_make_it_dirty(tmp_path, monkeypatch):
    from fmnist_jax import environment

    states = iter([{"git_dirty": False}, {"git_dirty": True}])  # the tree as seen before and after the first write
    monkeypatch.setattr(environment, "provenance", lambda: next(states))
    common.run_provenance.cache_clear()
    try:
        for rows in ([{"a": 1}], [{"a": 1}, {"a": 2}]):
            common.write_outputs(str(tmp_path), "t", "# t", rows)
            assert json.loads((tmp_path / "t.json").read_text())["provenance"] == {"git_dirty": False}
    finally:
        common.run_provenance.cache_clear()


@pytest.mark.parametrize("padding, side", [("SAME", 7), ("SAME", 6), ("VALID", 5)])
def test_winograd_lowering_matches_xla_s_convolution_and_its_gradients(padding, side):
    from benchmarks import winograd_lowering

    x = jax.random.normal(jax.random.key(0), (2, side, side, 3))
    kernel = jax.random.normal(jax.random.key(1), (3, 3, 3, 4))
    errors = winograd_lowering.max_relative_errors(x, kernel, padding)
    assert set(errors) == {"y", "dx", "dkernel"}
    # Odd and even sides: the tiles past the edge are padded and cropped again.
    assert max(errors.values()) < 1e-5, errors
    with pytest.raises(ValueError, match="3x3"):
        winograd_lowering.conv_winograd(x, jnp.zeros((5, 5, 3, 4)), padding)


@pytest.mark.extended  # 11 CPU-s: a study kept for its record
def test_winograd_cli_times_both_lowerings_on_the_layers_asked_for(tmp_path):
    args = ["--batch_sizes=2", "--passes=1", "--repeats=1", "--layers=0", f"--out={tmp_path}"]
    result = run_cli("benchmarks.winograd", *args)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((tmp_path / "winograd.json").read_text())["rows"]
    assert [row["layer"] for row in rows] == ["3x3 32->64 at 13x13 valid"] and all(
        row["im2col_ms"] > 0 and row["winograd_ms"] > 0 for row in rows
    )
    assert all(row["max_relative_error"] < 1e-5 for row in rows)


@pytest.mark.extended  # 17 CPU-s: Report D's sigmoid study
def test_saturation_counts_each_hidden_layer_s_saturated_units_before_and_after_training():
    args = ["--config=d_sigmoid", "--learning_rates=1e-3", "--epochs=1", "--num_examples=4096", "--probe_examples=64"]
    result = run_cli("benchmarks.saturation", *args)
    assert result.returncode == 0, result.stderr[-2000:]
    table = [line for line in result.stdout.splitlines() if line.startswith("| 0.001")]
    assert len(table) == 2  # before training and after the epoch
    before, after = ([float(cell) for cell in line.strip("| ").split(" | ")[3:]] for line in table)
    # conv 0-2, dense 1024 and dense 32: the logits have no activation to saturate
    assert len(before) == 5 and all(0 <= value <= 1 for value in before + after)
    # Glorot's init starts every unit in sigmoid's working range; 4 Adam steps at 1e-3 push dense(1024) out of it.
    assert before[3] == 0 and after[3] > 0.5


def test_model_layers_finds_the_im2col_gemms_and_drops_only_the_conv_kernel_gradients():
    import numpy as np
    from flax import linen as nn

    from benchmarks import model_layers
    from fmnist_jax.models import build_model

    config = common.load_config("baseline")  # CNN-A: Conv_0 on the images (Toeplitz tiles), Conv_1 im2col
    model = build_model(config)
    calls = model_layers.layer_calls(model, batch_size=8)
    shapes = {call.path: model_layers.im2col_gemm_shapes(call) for call in calls}
    assert shapes["CNNA/Conv_1"] == (8 * 11 * 11, 3 * 3 * 32, 64)  # 13x13 valid -> 11x11 outputs
    assert shapes["CNNA/Conv_0"] is None and all(shapes[c.path] is None for c in calls if c.kind == "dense")
    config.conv_impl = "im2col"  # every conv one im2col GEMM, the first too
    im2col_calls = model_layers.layer_calls(build_model(config), batch_size=8)
    assert model_layers.im2col_gemm_shapes(im2col_calls[0]) == (8 * 26 * 26, 3 * 3 * 1, 32)

    # Under the interceptor every conv kernel's gradient is zero, while the outputs, the biases' and the
    # dense layers' gradients are as without it.
    images = jax.random.uniform(jax.random.PRNGKey(0), (8, 28, 28, 1))
    variables = model.init(jax.random.PRNGKey(1), images, train=False)

    def loss(params):
        return jnp.sum(model.apply({**variables, "params": params}, images, train=False) ** 2)

    plain = jax.grad(loss)(variables["params"])
    with nn.intercept_methods(model_layers.conv_without_kernel_gradient):
        out = model.apply(variables, images, train=False)
        stopped = jax.grad(loss)(variables["params"])
    np.testing.assert_array_equal(out, model.apply(variables, images, train=False))
    for name in ("Conv_0", "Conv_1"):
        assert not np.any(stopped[name]["kernel"]) and np.any(plain[name]["kernel"])
        np.testing.assert_allclose(stopped[name]["bias"], plain[name]["bias"], rtol=1e-6)
    dense = [name for name in plain if name.startswith("Dense")]
    assert dense and all(np.array_equal(stopped[n]["kernel"], plain[n]["kernel"]) for n in dense)


@pytest.mark.extended  # 16 CPU-s: four epoch programs
def test_kernel_gradient_times_the_step_without_them_and_each_im2col_gemm(tmp_path):
    args = ["--config=baseline", "--num_examples=128", "--rounds=2", "--repeats=1", f"--out={tmp_path}"]
    result = run_cli("benchmarks.kernel_gradient", *args)
    assert result.returncode == 0, result.stderr[-2000:]
    situ, *gemms = json.loads((tmp_path / "kernel_gradient.json").read_text())["rows"]
    assert situ["config"] == "baseline" and situ["step_ms"] > 0 and situ["step_ms_without_conv_kernel_gradients"] > 0
    assert situ["conv_kernel_gradients_share_min"] <= situ["conv_kernel_gradients_share"]
    assert situ["conv_kernel_gradients_share"] <= situ["conv_kernel_gradients_share_max"] < 1
    # CNN-A at its batch of 32: one im2col conv (the first takes Toeplitz tiles), each form timed.
    assert [(row["layer"], row["gemm"]) for row in gemms] == [("CNNA/Conv_1", "3872 x 288 x 64")]
    forms = ("forward", "kernel_gradient", "kernel_gradient_split_2")
    assert all(gemms[0][f"{form}_gflop_per_s"] > 0 for form in forms)
    assert "of the step; per round" in result.stdout
