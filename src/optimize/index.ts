export { readGguf, readGgufTensorData } from "./gguf/reader.ts";
export { writeGguf, type GgufTensorInput, type GgufWriteInput } from "./gguf/writer.ts";
export { formatCount, summarizeGguf, type GgufSummary } from "./gguf/summary.ts";
export {
  gguf,
  ggmlTypeIds,
  ggmlTypeName,
  type GgufFile,
  type GgufTensorInfo,
  type GgufValue,
} from "./gguf/types.ts";
export {
  TINY_MODEL_DEFAULT_SEED,
  TINY_MODEL_FILE,
  buildTinyModel,
  ensureTinyModel,
  makeTinyModel,
} from "./tiny-model.ts";
