import { RuleRegistry } from "../registry.js";
import { adamw } from "./adamw.js";
import { sgd } from "./sgd.js";

/** The default registry that `partition` looks rule names up in. */
export const rules = new RuleRegistry()
  .register("adamw", { create: (hyper) => adamw(hyper) })
  .register("sgd", { create: (hyper) => sgd(hyper) });
