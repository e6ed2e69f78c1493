import { RuleRegistry } from "../registry.js";
import { adamw } from "./adamw.js";
import { sgd } from "./sgd.js";
import { lion } from "./lion.js";
import { adabelief } from "./adabelief.js";
import { scion } from "./scion.js";
import { root } from "./root.js";

/** The default registry that `partition` looks rule names up in. */
export const rules = new RuleRegistry()
  .register("adamw", { create: (hyper) => adamw(hyper) })
  .register("sgd", { create: (hyper) => sgd(hyper) })
  .register("lion", { create: (hyper) => lion(hyper) })
  .register("adabelief", { create: (hyper) => adabelief(hyper) })
  .register("scion", { create: (hyper) => scion(hyper) })
  .register("root", { ranks: [2, 3], create: (hyper) => root(hyper) });
