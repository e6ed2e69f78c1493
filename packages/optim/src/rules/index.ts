import { RuleRegistry } from "../registry.js";
import { adamw } from "./adamw.js";
import { sgd } from "./sgd.js";
import { rownorm } from "./rownorm.js";
import { rightPolar } from "./right-polar.js";
import { leftPolar } from "./left-polar.js";
import { hybrid } from "./hybrid.js";
import { muon } from "./muon.js";
import { polargrad } from "./polargrad.js";
import { lion } from "./lion.js";
import { adabelief } from "./adabelief.js";
import { scion } from "./scion.js";
import { root } from "./root.js";
import { spectra } from "./spectra.js";
import { swan } from "./swan.js";
import { lanton } from "./lanton.js";

/** The default registry that `partition` looks rule names up in. */
export const rules: RuleRegistry = new RuleRegistry()
  .register("adamw", { create: (hyper) => adamw(hyper) })
  .register("sgd", { create: (hyper) => sgd(hyper) })
  .register("rownorm", { ranks: [2, 3], create: (hyper) => rownorm(hyper) })
  .register("right_polar", { ranks: [2, 3], create: (hyper) => rightPolar(hyper) })
  .register("left_polar", { ranks: [2, 3], create: (hyper) => leftPolar(hyper) })
  .register("hybrid", { ranks: [2, 3], create: (hyper) => hybrid(hyper) })
  .register("muon", { ranks: [2, 3], create: (hyper) => muon(hyper) })
  .register("polargrad", { ranks: [2, 3], create: (hyper) => polargrad(hyper) })
  .register("lion", { create: (hyper) => lion(hyper) })
  .register("adabelief", { create: (hyper) => adabelief(hyper) })
  .register("scion", { create: (hyper) => scion(hyper) })
  .register("root", { ranks: [2, 3], create: (hyper) => root(hyper) })
  // The wrapped rule is looked up in this same registry.
  .register("spectra", { create: (hyper, ctx) => spectra(hyper, { registry: rules, ctx }) })
  .register("swan", { ranks: [2, 3], create: (hyper) => swan(hyper) })
  .register("lanton", { create: (hyper) => lanton(hyper) });
