"""Build the `demo` model: a tiny random-weight Llama chat model, offline, in seconds.

SMOKE-TEST MODEL ONLY: its weights are random, so its answers are gibberish. It exists so the
whole journey (serving, gateway, keys, usage, budgets) runs on a CPU with no internet access.
Tokenizer: byte-level BPE trained with `tokenizers` on local text (this file and the Python
standard library's sources); model: LlamaForCausalLM, hidden 128, 2 layers, vocab 2048, with a
ChatML chat template. Usage: python build_demo_model.py OUTPUT_DIR
"""
import glob
import json
import os
import sys
import sysconfig

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
import torch

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def corpus():
    files = [os.path.abspath(__file__)] + sorted(glob.glob(os.path.join(sysconfig.get_paths()["stdlib"], "*.py")))[:80]
    for path in files:
        with open(path, encoding="utf-8", errors="ignore") as fh:
            yield fh.read()


def main(out):
    torch.manual_seed(0)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus(), trainers.BpeTrainer(vocab_size=2048, special_tokens=SPECIAL,
                                                          initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   unk_token="<|endoftext|>", pad_token="<|endoftext|>")
    fast.chat_template = CHATML
    cfg = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
                      bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                      pad_token_id=fast.pad_token_id, tie_word_embeddings=True, torch_dtype="float32")
    model = LlamaForCausalLM(cfg)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    fast.save_pretrained(out)
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as fh:
        fh.write("# demo: SMOKE-TEST MODEL ONLY\n\nRandom weights, built offline by redwood.maas; answers are gibberish.\n")
    with open(os.path.join(out, "redwood-maas-demo.json"), "w", encoding="utf-8") as fh:
        json.dump({"smoke_test_only": True, "hidden_size": 128, "layers": 2, "vocab": tok.get_vocab_size()}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
