// The Python port of Larder's hash embedder (python/larder_interop.py) must give Larder's vectors:
// every other interop test relies on Python and Larder embedding alike. The port is plain Python
// (no llama-index code), so one version's venv is enough.
import { HashEmbedder } from "@larder/indexing";
import { expect, it } from "vitest";
import { ALL_TEXTS } from "./corpus.js";
import { describePython, runPython } from "./harness.js";

describePython(
  "hash embedder port",
  (py) => {
    it("embeds the corpus and the queries exactly as HashEmbedder does", async () => {
      const texts = [...ALL_TEXTS, "", "   ", "stores storing indexes classes", "ｆｕｌｌ-width ＡＢＣ ①②", "𝒜𝓁𝓅𝒽𝒶 😀 emoji"];
      const got = await runPython<number[][]>(py, `emit([hash_embed(t) for t in ARGS["texts"]])`, { texts });
      const e = new HashEmbedder();
      expect(got.length).toBe(texts.length);
      texts.forEach((t, i) => expect(got[i], t).toEqual(e.embedSync(t)));
    });
  },
  { latestOnly: true },
);
