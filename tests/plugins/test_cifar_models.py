"""CIFAR ResNets and DenseNets: parameter counts, shapes, names, init; training and AutoNEB recipes."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from landscape import LandscapeError  # noqa: E402
from landscape.optimizers.schedules import get_schedule  # noqa: E402
from landscape_plugins.cifar.models import (  # noqa: E402
    EXACT_PARAMS,
    LITERATURE_PARAMS,
    MODEL_NAMES,
    CifarDenseNet,
    CifarResNet,
    HeConv2d,
    build_model,
    count_parameters,
    parse_model_name,
)
from landscape_plugins.cifar.recipes import (  # noqa: E402
    AUTONEB_PRESETS,
    DENSENET_RECIPE,
    RESNET_RECIPE,
    TENTH,
    autoneb_preset,
    cpu_schedule,
    paper_batch_size,
    scaled_schedule,
    tenth_schedule,
    training_recipe,
)

SMALL = ("resnet8-w4", "resnet14-w8", "densenet10-k4", "densenet16bc-k4")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Batches of 2 run fastest on one thread, and a shared 2-core machine makes
    multi-threaded kernels wait on each other (seconds instead of milliseconds)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_parameter_counts_match_the_literature(name):
    n = count_parameters(name)  # built on the meta device: no memory, no init
    assert n == EXACT_PARAMS[name]
    lit = LITERATURE_PARAMS[name]
    if name == "densenet100bc":
        # Huang et al. print 0.8M, one significant digit; the described architecture has
        # 0.769M with 10 classes and 0.800M with 100 (their table serves both data sets)
        assert round(n / 1e5) / 10 == 0.8
        assert abs(count_parameters(name, num_classes=100) / lit - 1) < 0.02
    else:
        assert abs(n / lit - 1) < 0.02, (name, n, lit)


def test_counting_a_built_model_agrees_with_the_meta_count():
    assert count_parameters(build_model("resnet20")) == EXACT_PARAMS["resnet20"]
    assert count_parameters("resnet20", num_classes=100) == EXACT_PARAMS["resnet20"] + 90 * 65


@pytest.mark.parametrize("name", MODEL_NAMES + SMALL)
def test_output_shape_for_a_batch_of_two(name):
    torch.manual_seed(0)
    model = build_model(name)
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", SMALL)
def test_small_variants_train_with_channels_last_and_bf16_autocast(name):
    torch.manual_seed(1)
    model = build_model(name, num_classes=100).to(memory_format=torch.channels_last)
    x = torch.randn(4, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    assert out.shape == (4, 100)
    out.float().logsumexp(1).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert count_parameters(model) < 50_000


def test_names_follow_the_rule():
    assert parse_model_name("ResNet20").kwargs() == {"depth": 20, "width": 16}
    assert parse_model_name("resnet8-w4").kwargs() == {"depth": 8, "width": 4}
    assert parse_model_name("densenet40").kwargs() == {"depth": 40, "growth": 12, "bottleneck": False}
    assert parse_model_name("densenet100bc").kwargs() == {"depth": 100, "growth": 12, "bottleneck": True}
    assert parse_model_name("densenet22bc-k6").kwargs() == {"depth": 22, "growth": 6, "bottleneck": True}
    m = build_model("resnet14-w8")
    assert isinstance(m, CifarResNet) and (m.depth, m.width) == (14, 8) and m.fc.in_features == 32
    d = build_model("densenet100bc")
    assert isinstance(d, CifarDenseNet) and d.bottleneck and d.compression == 0.5
    assert sum(1 for _ in d.modules() if type(_).__name__ == "DenseLayer") == 48  # 3 blocks of 16


@pytest.mark.parametrize("name", ["vgg16", "resnet21", "resnet2", "densenet41", "densenet42bc", "resnet20-k4", ""])
def test_bad_names_raise_one_line_errors(name):
    with pytest.raises(LandscapeError) as err:
        build_model(name)
    assert "\n" not in str(err.value)


def test_constructor_options_pass_through_but_may_not_contradict_the_name():
    assert build_model("densenet10-k4", dropout=0.2, compression=0.5).compression == 0.5
    with pytest.raises(LandscapeError, match="fixes depth"):
        build_model("resnet20", depth=32)
    with pytest.raises(LandscapeError, match="bad option"):
        build_model("resnet20", colour="red")


def test_convolutions_get_he_init_also_after_a_generic_reset():
    torch.manual_seed(0)
    model = build_model("resnet20")
    conv = model.stages[2][1].conv1  # 64 -> 64, 3x3: fan_out 576
    assert isinstance(conv, HeConv2d)
    expected = math.sqrt(2 / (64 * 9))
    assert abs(conv.weight.std().item() / expected - 1) < 0.05
    for m in model.modules():  # what a seeded re-initialisation of any module does
        if callable(getattr(m, "reset_parameters", None)):
            m.reset_parameters()
    assert abs(conv.weight.std().item() / expected - 1) < 0.05


def test_training_recipes_of_the_original_papers():
    r = training_recipe("resnet56")
    assert r is RESNET_RECIPE
    assert (r.lr, r.momentum, r.nesterov, r.weight_decay, r.batch_size) == (0.1, 0.9, False, 1e-4, 128)
    assert r.epochs == 164 and r.milestone_epochs == (82, 123)
    assert [r.lr_at(e) for e in (0, 81, 82, 122, 123, 163)] == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    d = training_recipe("densenet100bc")
    assert d is DENSENET_RECIPE and d.nesterov and d.batch_size == 64 and d.epochs == 300
    assert d.milestone_epochs == (150, 225)
    short = r.scaled(epochs=8, batch_size=32)
    assert short.milestone_epochs == (4, 6) and short.batch_size == 32 and short.lr == 0.1
    assert r.scaled(milestones=[0.3]).milestones == (0.3,)
    with pytest.raises(LandscapeError):
        r.scaled(milestones=(0.8, 0.2))
    with pytest.raises(LandscapeError):
        r.scaled(epochs=0)
    with pytest.raises(LandscapeError):
        r.scaled(optimiser="adam")


def test_recipes_convert_to_the_torch_backend_config():
    train = pytest.importorskip("landscape_plugins.torchnet.train")
    recipe = DENSENET_RECIPE.scaled(epochs=12)
    config = train.TrainConfig(**recipe.to_config())
    assert config.nesterov and config.batch_size == 64
    assert [train.learning_rate(config, e) for e in range(12)] == [recipe.lr_at(e) for e in range(12)]


def test_autoneb_presets_follow_the_paper():
    schedule, batch = autoneb_preset("resnet20")
    assert schedule.to_config() == get_schedule("paper").to_config() and batch == 512
    assert [c.steps for c in schedule.cycles] == [1000] * 4 + [2000] * 2 + [1000] * 8
    assert (schedule.threshold, schedule.per_segment) == (0.2, 9)
    sgd = schedule.cycles[0].stepper
    assert (sgd.momentum, sgd.weight_decay) == (0.9, 1e-4)
    assert [paper_batch_size(m) for m in MODEL_NAMES] == [512, 512, 256, 256, 256, 256]
    short, _ = autoneb_preset("resnet56", "short")
    assert [c.steps for c in short.cycles] == [100] * 4 + [200] * 2 + [100] * 8
    assert [c.stepper.step_size for c in short.cycles] == [c.stepper.step_size for c in schedule.cycles]
    cpu, cpu_batch = autoneb_preset("resnet8-w4", "cpu")
    assert [c.stepper.step_size for c in cpu.cycles] == pytest.approx([0.1, 0.1, 0.01, 0.001]) and cpu_batch == 128
    assert cpu_schedule(10).total_steps == 40 and scaled_schedule(0.0001).total_steps == 14
    assert set(AUTONEB_PRESETS) >= {"paper", "short", "cpu"}
    with pytest.raises(LandscapeError, match="unknown AutoNEB preset"):
        autoneb_preset("resnet20", "fast")
    with pytest.raises(LandscapeError):
        scaled_schedule(0)


def _per_pivot(schedule, batch):
    """Sample-gradients one pivot costs over the whole schedule."""
    return schedule.total_steps * batch


@pytest.mark.parametrize("model", ["resnet20", "resnet56", "densenet40-k12"])
def test_tenth_preset_costs_a_tenth_of_the_paper_per_pivot(model):
    paper, paper_batch = autoneb_preset(model, "paper")
    tenth, tenth_batch = autoneb_preset(model, "tenth")
    assert (
        tenth_batch == int(paper_batch * TENTH)
        and _per_pivot(tenth, tenth_batch) <= _per_pivot(paper, paper_batch) / 10
    )
    # the same SGD noise per step: learning rate over batch as the paper's, cycle by cycle
    assert [c.stepper.step_size / tenth_batch for c in tenth.cycles] == pytest.approx(
        [c.stepper.step_size / paper_batch for c in paper.cycles], rel=0.03
    )
    # and at the reduced run's fraction and batch (examples/cifar_reduced.py --schedule tenth)
    assert [c.stepper.step_size for c in tenth.cycles] == [0.01] * 6 + [0.001] * 4 + [0.0001] * 4  # exact decimals
    for fraction in (0.05, 0.01):
        cheap = tenth_schedule(fraction)
        assert _per_pivot(cheap, int(100 * TENTH)) <= _per_pivot(scaled_schedule(fraction), 100) / 10
    assert paper.to_config() == get_schedule("paper").to_config()  # paper unchanged beside it
