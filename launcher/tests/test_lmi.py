"""LMI (DJL Serving) configuration end to end: serving.properties and LMI variables, below TGI's
flags and variables in precedence, seen through --print-config and the fake children's argv."""
import json
import os
import shutil
import signal

import pytest

from conftest import MODEL_DIR, run_launcher


@pytest.fixture
def lmi_model(workdir):
    """A copy of the bundled model's config and tokenizer files with a serving.properties."""
    directory = os.path.join(workdir, "model")
    os.makedirs(directory)
    for name in os.listdir(MODEL_DIR):
        shutil.copy(os.path.join(MODEL_DIR, name), directory)
    with open(os.path.join(directory, "serving.properties"), "w") as f:
        f.write("engine=Python\n"
                "option.rolling_batch=lmi-dist\n"
                "option.tensor_parallel_degree=1\n"
                "option.max_rolling_batch_size=8\n"
                "option.max_input_len=100\n"
                "option.max_output_len=28\n"
                "option.dtype=bf16\n")
    return directory


def print_config(args, env=None):
    code, out, err = run_launcher([*args, "--print-config"], env=env)
    assert code == 0, err
    return json.loads(out), err


def test_serving_properties_in_the_model_directory(lmi_model):
    config, log = print_config(["--model-id", lmi_model])
    assert config["serving_properties"] == os.path.join(lmi_model, "serving.properties")
    assert config["max_batch_size"] == 8
    assert config["max_input_tokens"] == 100
    assert config["max_total_tokens"] == 128
    assert config["max_batch_prefill_tokens"] == 800  # max_batch_size x max_input_tokens
    assert config["dtype"] == "bfloat16"
    assert config["num_shard"] == 1
    assert any("option.rolling_batch=lmi-dist" in line for line in config["lmi_ignored"])
    assert any("engine=Python" in line for line in config["lmi_ignored"])
    router = config["router"]["args"]
    assert router[router.index("--max-batch-size") + 1] == "8"
    shard = config["shards"][0]
    assert shard["args"][shard["args"].index("--dtype") + 1] == "bfloat16"
    assert shard["env"]["MAX_TOTAL_TOKENS"] == "128"
    assert "LMI setting option.max_rolling_batch_size=8 -> --max-batch-size 8" in log


def test_tgi_variables_beat_lmi_and_flags_beat_both(lmi_model):
    config, _ = print_config(["--model-id", lmi_model], env={"MAX_BATCH_SIZE": "4"})
    assert config["max_batch_size"] == 4
    config, _ = print_config(["--model-id", lmi_model, "--max-batch-size", "2",
                              "--dtype", "float32"], env={"MAX_BATCH_SIZE": "4", "DTYPE": "float16"})
    assert config["max_batch_size"] == 2
    assert config["dtype"] == "float32"
    config, _ = print_config(["--model-id", lmi_model], env={"DTYPE": "float16",
                                                             "MAX_TOTAL_TOKENS": "300"})
    assert config["dtype"] == "float16"
    assert config["max_total_tokens"] == 300


def test_lmi_environment_variables(lmi_model, workdir):
    os.remove(os.path.join(lmi_model, "serving.properties"))
    config, _ = print_config([], env={"HF_MODEL_ID": lmi_model,
                                      "OPTION_MAX_ROLLING_BATCH_SIZE": "16",
                                      "OPTION_MAX_INPUT_LEN": "50",
                                      "TENSOR_PARALLEL_DEGREE": "max"})
    assert config["model_dir"] == lmi_model
    assert config["max_batch_size"] == 16
    assert config["max_input_tokens"] == 50
    assert config["num_shard"] == 1


def test_environment_beats_the_properties_file(lmi_model):
    config, _ = print_config(["--model-id", lmi_model], env={"OPTION_MAX_ROLLING_BATCH_SIZE": "3"})
    assert config["max_batch_size"] == 3


def test_serving_properties_flag_naming_the_model(lmi_model, workdir):
    properties = os.path.join(workdir, "elsewhere.properties")
    with open(properties, "w") as f:
        f.write(f"option.model_id={lmi_model}\noption.max_rolling_batch_size=5\n")
    config, _ = print_config(["--serving-properties", properties])
    assert config["model_dir"] == lmi_model
    assert config["max_batch_size"] == 5
    assert config["serving_properties"] == properties


def test_bad_lmi_value_is_an_argument_error(lmi_model):
    with open(os.path.join(lmi_model, "serving.properties"), "a") as f:
        f.write("option.max_rolling_batch_size=lots\n")
    code, _, err = run_launcher(["--model-id", lmi_model])
    assert code == 1
    assert "option.max_rolling_batch_size=lots is not a positive integer" in err


def test_children_receive_the_lmi_configuration(launch, lmi_model):
    launcher = launch(model_dir=lmi_model)
    router = launcher.wait_record("router")
    argv = router["argv"]
    assert argv[argv.index("--max-batch-size") + 1] == "8"
    assert argv[argv.index("--max-input-tokens") + 1] == "100"
    assert argv[argv.index("--max-total-tokens") + 1] == "128"
    shard = launcher.record("shard-0")
    assert shard["env"]["MAX_BATCH_SIZE"] == "8"
    assert shard["argv"][shard["argv"].index("--dtype") + 1] == "bfloat16"
    launcher.signal(signal.SIGTERM)
    assert launcher.wait(60) == 0
