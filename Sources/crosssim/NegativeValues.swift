/// Lets options of several numbers take negative ones: `--siglip 10:-10 -10:10`.
///
/// The argument parser reads every word that starts with "-" as an option, so the values of
/// an `.upToNextOption` list stop at the first negative one (and "Missing value" when it comes
/// first). No option of crosssim starts with "-" and a digit or ".", so within such a list
/// that word is a value: it is rewritten to `--name=word`, which the parser reads as one more
/// value of the same list. Options of one number take theirs with `.unconditional` parsing.
enum NegativeValues {
    /// `arguments` with every negative number inside the values of one of `lists` attached
    /// to its option's name (the option's own word, when no value follows it otherwise).
    static func attached(_ arguments: [String], lists: Set<String>) -> [String] {
        var list: String?
        var bareOption: Int?  // where `list`'s word stands while it has no value yet
        var rewritten: [String] = []
        for (position, word) in arguments.enumerated() {
            if word == "--" { return rewritten + arguments[position...] }
            if let list, isNegativeNumber(word) {
                if let bareOption { rewritten[bareOption] = list + "=" + word } else { rewritten.append(list + "=" + word) }
                bareOption = nil
                continue
            }
            if word.hasPrefix("-") {
                let name = String(word.prefix { $0 != "=" })
                list = lists.contains(name) ? name : nil
                bareOption = list != nil && name == word ? rewritten.count : nil
            } else {
                bareOption = nil
            }
            rewritten.append(word)
        }
        return rewritten
    }

    static func isNegativeNumber(_ word: String) -> Bool {
        guard word.hasPrefix("-"), let next = word.dropFirst().first else { return false }
        return next.isASCII && (next.isNumber || next == ".")
    }
}
