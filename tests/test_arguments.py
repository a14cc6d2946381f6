"""The dispatcher's rewriting of command-line words into Hydra overrides (seg_cli.arguments)."""

from seg_cli.arguments import open_section_overrides


def test_keys_under_model_options_need_no_plus():
    words = ["model=smp", "model.options.decoder_channels=[64,32]", "+model.options.encoder_depth=4", "train.epochs=2"]
    assert open_section_overrides(words) == ["model=smp", "++model.options.decoder_channels=[64,32]",
                                             "+model.options.encoder_depth=4", "train.epochs=2"]
