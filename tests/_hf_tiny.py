"""Shapes shared by the tests that build tiny random Hugging Face BART/mBART checkpoints."""

# keyword arguments of transformers.BartConfig / MBartConfig: 2+2 layers of width 32, 64 positions
TINY_BART_DIMS = dict(
    d_model=32,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=64,
    decoder_ffn_dim=64,
    max_position_embeddings=64,
)
