"""The built-in engine alone in a process, for ``bench/compare_rasa.py`` to measure its memory.

``python bench/nlu_server.py train LEXICON.json MODEL FILE...`` trains and saves a model;
``python bench/nlu_server.py serve LEXICON.json MODEL PORT`` serves ``POST /model/parse`` (the
answer the bot's own route gives) on 127.0.0.1. Both import only the NLU package and aiohttp,
as ``rasa run`` serving an NLU model holds only Rasa: the lexicon (procedure and place phrases
of the knowledge base) comes as a JSON file written by the caller.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlu.engine import DEFAULT_OOS_THRESHOLD, BuiltinNlu, Lexicon, NluModel, train
from nlu.rasa_data import load_training_data


def read_lexicon(path: str) -> Lexicon:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return Lexicon(procedures=raw["procedures"], places=raw["places"])


def write_lexicon(lexicon: Lexicon, path: Path) -> None:
    path.write_text(json.dumps({"procedures": dict(lexicon.procedures),
                                "places": dict(lexicon.places)}, ensure_ascii=False),
                    encoding="utf-8")


def serve(lexicon_path: str, model_path: str, port: int) -> None:
    from aiohttp import web

    nlu = BuiltinNlu(NluModel.load(Path(model_path)), read_lexicon(lexicon_path),
                     DEFAULT_OOS_THRESHOLD)

    async def parse(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(nlu.parse(body["text"]).to_dict())

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/model/parse", parse)
    app.router.add_get("/", hello)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def main(argv: list[str]) -> int:
    if len(argv) >= 4 and argv[0] == "train":
        train(load_training_data(argv[3:]), read_lexicon(argv[1])).save(Path(argv[2]))
        return 0
    if len(argv) == 4 and argv[0] == "serve":
        serve(argv[1], argv[2], int(argv[3]))
        return 0
    sys.stderr.write(__doc__ or "")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
