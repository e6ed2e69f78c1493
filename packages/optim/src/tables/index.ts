export { ADAMW, MUON, MUON_LR, SYMMETRY, SYMMETRY_LR, TABLES, type EntryTemplate, type NamedTable, type RuleChoice } from "./data.js";
export { adjustTable, buildTable, TableError, tableNames, tableVariants, type BaseHyper, type TableOptions } from "./build.js";
export { otherWarmup, roleSchedule, type RoleSchedule } from "./schedules.js";
