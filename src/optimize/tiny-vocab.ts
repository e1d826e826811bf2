/**
 * The vocabulary of Keel's generated test model: a SentencePiece-style ("llama") tokenizer
 * with byte fallback, the layout llama.cpp expects for `tokenizer.ggml.model = "llama"`:
 *
 *   0 <unk> · 1 <s> (BOS) · 2 </s> (EOS) · 3 <|im_start|> · 4 <|im_end|> (end of turn)
 *   5..260 byte tokens <0x00>..<0xFF> (any text tokenizes, whatever its script)
 *   then single characters (printable ASCII and "▁", the space marker)
 *   then every prefix of "▁word" for a list of common English words, scored so that
 *   SentencePiece's pairwise merges can always reach the whole word.
 */

export const SPACE_MARK = "\u2581"; // "▁"

/** llama.cpp token types. */
export const tokenTypes = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

export const specialTokens = {
  unk: 0,
  bos: 1,
  eos: 2,
  imStart: 3,
  imEnd: 4,
} as const;

export const FIRST_BYTE_TOKEN = 5;

const WORDS = `the of and to a in is it you that he was for on are with as his they be at one have
this from or had by hot word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so these
her long make thing see him two has look more day could go come did number sound no most people
my over know water than call first who may down side been now find any new work part take get
place made live where after back little only round man year came show every good me give our
under name very through just form sentence great think say help low line differ turn cause much
mean before move right boy old too same tell does set three want air well also play small end
put home read hand port large spell add even land here must big high such follow act why ask men
change went light kind off need house picture try us again animal point mother world near build
self earth father head stand own page should country found answer school grow study still learn
plant cover food sun four thought let keep eye never last door between city tree cross since hard
start might story saw far sea draw left late run while press close night real life few stop open
seem together next white children begin got walk example ease paper group always music those both
mark often letter until mile river car feet care second book carry took science eat room friend
began idea fish mountain north once base hear horse cut sure watch color face wood main enough
plain girl usual young ready above ever red list though feel talk bird soon body dog family
direct pose leave song measure state product black short numeral class wind question happen
complete ship area half rock order fire south problem piece told knew pass farm top whole king
size heard best hour better true during hundred am remember step early hold west ground interest
reach fast five sing listen six table travel less morning ten simple several vowel toward war lay
against pattern slow center love person money serve appear road map science rule govern pull
cold notice voice fall power town fine certain fly unit lead cry dark machine note wait plan
figure star box noun field rest correct able pound done beauty drive stood contain front teach
week final gave green oh quick develop sleep warm free minute strong special mind behind clear
tail produce fact street inch lot nothing course stay wheel full force blue object decide surface
deep moon island foot yet busy test record boat common gold possible plane age dry wonder laugh
thousand ago ran check game shape yes hot miss brought heat snow bed bring sit perhaps fill east
weight language among model hello keel token local serve gateway trace`;

export interface TinyVocab {
  tokens: string[];
  scores: number[];
  types: number[];
  /** Tokens the generated model should never produce (specials and raw bytes). */
  silentTokens: number;
}

export function buildTinyVocab(): TinyVocab {
  const tokens: string[] = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"];
  const types: number[] = [
    tokenTypes.unknown,
    tokenTypes.control,
    tokenTypes.control,
    tokenTypes.control,
    tokenTypes.control,
  ];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(tokenTypes.byte);
  }
  const silentTokens = tokens.length;
  const scores: number[] = tokens.map(() => 0);

  const seen = new Set<string>();
  const add = (piece: string) => {
    if (seen.has(piece)) return;
    seen.add(piece);
    tokens.push(piece);
    types.push(tokenTypes.normal);
    // Earlier (shorter, commoner) pieces merge first.
    scores.push(-seen.size);
  };
  add(SPACE_MARK);
  for (let c = 0x21; c <= 0x7e; c++) add(String.fromCharCode(c));
  const words = WORDS.split(/\s+/).filter((w) => w.length > 0);
  for (const word of words) {
    const piece = SPACE_MARK + word;
    for (let end = 2; end <= piece.length; end++) add(piece.slice(0, end));
  }
  return { tokens, scores, types, silentTokens };
}

/** ChatML, rendered by llama.cpp's and node-llama-cpp's Jinja engines alike. */
export const TINY_CHAT_TEMPLATE =
  "{% for message in messages %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
