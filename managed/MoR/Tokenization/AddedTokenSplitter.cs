using MoR.Text;

namespace MoR.Tokenization;

/// <summary>
/// Finds added tokens (special tokens such as <c>&lt;|im_start|&gt;</c>, and non-special ones such as Gemma's
/// runs of newlines) in text before anything else touches it: at each position the longest token starting there
/// wins, scanning left to right, and the text between tokens is tokenized normally. A token's <c>lstrip</c> /
/// <c>rstrip</c> removes the whitespace before / after it.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Node _root = new();
    private readonly IReadOnlyDictionary<string, AddedToken> _byText;

    /// <summary>Builds the splitter.</summary>
    /// <param name="matched">The texts to find.</param>
    /// <param name="byText">Every added token by its text (raw and normalized forms): a section whose text is a key
    /// counts as that token.</param>
    public AddedTokenSplitter(IEnumerable<string> matched, IReadOnlyDictionary<string, AddedToken> byText)
    {
        _byText = byText;
        foreach (string content in matched)
        {
            if (content.Length == 0)
            {
                continue;
            }

            Node node = _root;
            foreach (char c in content)
            {
                node = node.Children.TryGetValue(c, out Node? child) ? child : node.Children[c] = new Node();
            }

            node.IsEnd = true;
        }
    }

    /// <summary>Splits text into runs of plain text and added tokens, applying lstrip/rstrip to the neighbours.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The sections in order; <c>Token</c> is set for an added token. Sections may be empty.</returns>
    public List<(string Text, AddedToken? Token)> Split(string text)
    {
        var sections = new List<string>();
        int plainStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            Node? node = _root;
            int matchEnd = -1;
            for (int j = i; j < text.Length && node.Children.TryGetValue(text[j], out node); j++)
            {
                if (node.IsEnd)
                {
                    matchEnd = j + 1;
                }
            }

            if (matchEnd < 0)
            {
                i++;
                continue;
            }

            if (i > plainStart)
            {
                sections.Add(text[plainStart..i]);
            }

            sections.Add(text[i..matchEnd]);
            i = plainStart = matchEnd;
        }

        if (plainStart < text.Length)
        {
            sections.Add(text[plainStart..]);
        }

        // As the reference does it: a section is a token when its text is one, judged again after each strip.
        for (int k = 0; k < sections.Count; k++)
        {
            if (!_byText.TryGetValue(sections[k], out AddedToken? token))
            {
                continue;
            }

            if (token.LeftStrip && k > 0)
            {
                sections[k - 1] = EcmaWhitespace.TrimEnd(sections[k - 1]);
            }

            if (token.RightStrip && k + 1 < sections.Count)
            {
                sections[k + 1] = EcmaWhitespace.TrimStart(sections[k + 1]);
            }
        }

        return [.. sections.Select(s => (s, _byText.TryGetValue(s, out AddedToken? t) ? t : null))];
    }

    private sealed class Node
    {
        public Dictionary<char, Node> Children { get; } = [];

        public bool IsEnd { get; set; }
    }
}
