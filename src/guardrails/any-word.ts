/**
 * One case-insensitive regex that tells whether a text holds any of a list of words (or other
 * literal strings), written as a trie: `ab(?:c|d)` rather than `abc|abd`. The regex engine
 * then tries each first letter once per position instead of every word in turn, which is
 * what makes a list of fifty-odd words cheap enough to test on every request.
 *
 * For `test` only: a word that extends a shorter one in the list is dropped (the shorter one
 * matches wherever it does), so a match is not always the longest word.
 */

interface TrieNode {
  end: boolean;
  next: Map<string, TrieNode>;
}

const SPECIAL = /[\\^$.*+?()[\]{}|/-]/g;

function source(node: TrieNode): string {
  if (node.end) return "";
  const branches = [...node.next].map(
    ([char, child]) => char.replace(SPECIAL, "\\$&") + source(child),
  );
  return branches.length === 1 ? branches[0]! : `(?:${branches.join("|")})`;
}

/** An empty word (or no word at all) gives a pattern that matches every text. */
export function anyWordPattern(words: readonly string[]): RegExp {
  const root: TrieNode = { end: false, next: new Map() };
  for (const word of words) {
    let node = root;
    for (const char of word.toLowerCase()) {
      let child = node.next.get(char);
      if (child === undefined) {
        child = { end: false, next: new Map() };
        node.next.set(char, child);
      }
      node = child;
    }
    node.end = true;
  }
  return new RegExp(source(root), "i");
}
