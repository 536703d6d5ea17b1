"""How many replies per second triage sorts on one core.

    python bench/bench_triage.py [--seconds 3]

The mix is made of realistic replies in the five languages (menu digits, "fine",
symptoms, denials, misspellings, someone else, admin questions), recombined with a
fixed seed into a few thousand distinct texts so that each call does the whole job;
the per-word cache warms up as it would in production.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reminders.triage import triage  # noqa: E402

FRAGMENTS = [
    "1", "2", "3", "4", "#1", "jibu 1", "1 thanks", "fine", "I'm fine thank you", "Im good thanx",
    "sawa", "niko poa asante", "sijambo", "estoy bien gracias", "todo bien", "je vais bien merci",
    "ça va", "estou bem obrigada", "tudo bem", "no fever", "sina homa", "sin fiebre", "pas de fievre",
    "sem febre", "I have fever since yesterday", "nina homa na kikohozi", "tengo fiebre y tos",
    "j'ai de la fièvre", "estou com febre e tosse", "my body is hot", "mwili una joto",
    "headache", "kichwa kinauma sana", "dolor de cabeza muy fuerte", "mal de tête terrible",
    "dor de cabeça", "I cant breath well", "siwezi kupumua", "no puedo respirar",
    "je n'arrive pas à respirer", "falta de ar", "chest pain", "my neck is stiff", "I see spots",
    "my eyes are yellow", "I forgot my pills", "nilisahau dawa", "olvidé las pastillas",
    "j'ai oublié mes médicaments", "esqueci o remédio", "my child has fever", "mtoto wangu ana homa",
    "the fever is gone", "homa imeisha", "ya no tengo fiebre", "la fièvre est partie", "a febre passou",
    "im nt feelin well", "sijisikii vizuri", "no me siento bien", "je ne me sens pas bien",
    "não estou bem", "feva n hedache", "diarrhoea and vomiting", "naharisha", "diarrea", "vômito",
    "rash on my arms", "vipele mwilini", "night sweats", "natoka jasho usiku", "swollen glands",
    "shingo imevimba", "when is my appointment", "who is this", "wrong number", "help",
    "tarehe ya kliniki ni lini", "cuándo es mi cita", "very tired", "nimechoka", "I want to kill myself",
    "side effects from the pills, bad dreams", "ok", "thanks", "asante", "gracias", "merci", "obrigado",
    "😀", "??", "Hello nurse", "God bless you", "I took 2 pills", "fever for 3 days",
    # issue 9: temperatures, rigors, overdose, double negatives, past and gone, logistics
    "temp is 39.5", "fiebre de 39,6", "homa na natetemeka", "I took all my pills at once",
    "no es que no tenga fiebre", "had a cough last week, fine now", "please call me",
    "no money for transport", "o médico está hoje?", "moja", "6",
]


def replies(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = rng.sample(FRAGMENTS, rng.choice([1, 1, 1, 2, 2, 3]))
        text = rng.choice([", ", ". ", " ", " but "]).join(parts)
        if rng.random() < 0.2:
            text = text.upper()
        if rng.random() < 0.1:
            text += f" {rng.randint(10, 99)}"  # a stray number or name-like token
        out.append(text)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    texts = replies(5000)
    started = time.perf_counter()
    triage("warm up")  # loads and compiles the lexicons once
    print(f"lexicons loaded and compiled in {time.perf_counter() - started:.3f} s")
    first_pass = time.perf_counter()
    for text in texts:
        triage(text)
    cold = len(texts) / (time.perf_counter() - first_pass)
    done, started, cpu_started = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - started) < args.seconds:
        for text in texts:
            triage(text)
        done += len(texts)
    cpu = time.process_time() - cpu_started
    print(f"first pass over {len(texts)} distinct replies: {cold:,.0f} replies/second")
    print(f"steady state: {done / elapsed:,.0f} replies/second on one core ({done:,} replies in {elapsed:.1f} s)")
    # On a shared machine the wall clock counts other processes' turns on the core too;
    # CPU time counts only ours (it still suffers from their cache use).
    print(f"steady state per CPU-second: {done / cpu:,.0f} replies ({cpu:.1f} s of CPU)")


if __name__ == "__main__":
    main()
