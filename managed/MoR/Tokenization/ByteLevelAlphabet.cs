namespace MoR.Tokenization;

/// <summary>
/// GPT-2's <c>bytes_to_unicode</c>: byte-level BPE vocabularies write each byte as a printable character
/// (printable Latin-1 bytes as themselves, the rest as U+0100 onwards).
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] s_byteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> s_charToByte = s_byteToChar.Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    /// <summary>The character byte <paramref name="b"/> is written as.</summary>
    /// <param name="b">The byte.</param>
    /// <returns>Its character.</returns>
    public static char ToChar(byte b) => s_byteToChar[b];

    /// <summary>The byte a vocabulary character stands for.</summary>
    /// <param name="c">The character.</param>
    /// <param name="b">Its byte.</param>
    /// <returns>Whether <paramref name="c"/> is in the alphabet.</returns>
    public static bool TryGetByte(char c, out byte b) => s_charToByte.TryGetValue(c, out b);

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, each written as its character.</summary>
    /// <param name="text">The text (lone surrogates become U+FFFD, as a UTF-8 encoder writes them).</param>
    /// <returns>The byte-level string.</returns>
    public static string Encode(string text)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return string.Create(bytes.Length, bytes, static (span, b) =>
        {
            for (int i = 0; i < b.Length; i++)
            {
                span[i] = s_byteToChar[b[i]];
            }
        });
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + next++);
        }

        return map;
    }
}
