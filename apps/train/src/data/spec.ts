import { z } from "zod";
import type { Corpus } from "./corpus.js";
import { shardCorpus } from "./shard-corpus.js";
import { sotuCorpus } from "./sotu.js";
import { textCorpus } from "./text.js";

const paths = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** Where the training text comes from: a config field (strict: unknown keys are errors). */
export const corpusSpecSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("sotu"), heldOutFrom: z.number().int().optional() }).strict(),
  z
    .object({
      kind: z.literal("text"),
      path: z.string().min(1),
      valFraction: z.number().min(0).lt(1).optional(),
      valBy: z.enum(["document", "bytes"]).optional(),
    })
    .strict(),
  z.object({ kind: z.literal("shards"), train: paths, val: paths.optional() }).strict(),
]);

export type CorpusSpec = z.infer<typeof corpusSpecSchema>;

/** Loads the corpus a spec names (reads the text files now; shards are only listed). */
export function openCorpus(spec: CorpusSpec): Corpus {
  switch (spec.kind) {
    case "sotu":
      return sotuCorpus({ heldOutFrom: spec.heldOutFrom });
    case "text":
      return textCorpus(spec.path, { valFraction: spec.valFraction, valBy: spec.valBy });
    case "shards":
      return shardCorpus(spec.train, spec.val);
  }
}
