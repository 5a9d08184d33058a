namespace MoR.Tokenization;

/// <summary>Finds and loads the tokenizer of a model directory.</summary>
public static class TokenizerLoader
{
    /// <summary>
    /// Loads the directory's tokenizer: MoR's <see cref="ByteTokenizer"/> when <c>tokenizer_config.json</c>
    /// names it; else a BPE <c>tokenizer.json</c>, byte-level or SentencePiece-style (preferred when both files
    /// exist, as Hugging Face prefers it); else the SentencePiece <c>tokenizer.model</c>.
    /// Special tokens come from <c>tokenizer_config.json</c>, falling back to <c>config.json</c>'s ids.
    /// </summary>
    /// <param name="directory">The model directory.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="FileNotFoundException">No tokenizer file.</exception>
    /// <exception cref="NotSupportedException">Only an unsupported <c>tokenizer.json</c> is present.</exception>
    public static ITextTokenizer FromDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Model directory '{directory}' does not exist.");
        }

        TokenizerConfig config = TokenizerConfig.Load(directory);
        if (config.TokenizerClass == ByteTokenizer.TokenizerClassName)
        {
            return ByteTokenizer.Instance;
        }

        string json = Path.Combine(directory, "tokenizer.json");
        string model = Path.Combine(directory, "tokenizer.model");
        string? jsonProblem = null;
        if (File.Exists(json))
        {
            if (BpeTextTokenizer.TryLoad(json, config, out BpeTextTokenizer? tokenizer, out jsonProblem))
            {
                return tokenizer;
            }
        }

        if (File.Exists(model))
        {
            return SentencePieceTextTokenizer.Load(model, config);
        }

        if (jsonProblem is not null)
        {
            throw new NotSupportedException($"'{json}' cannot be loaded ({jsonProblem}) and there is no tokenizer.model beside it.");
        }

        throw new FileNotFoundException(
            $"'{directory}' has no tokenizer: expected tokenizer.json, tokenizer.model, or a tokenizer_config.json naming {ByteTokenizer.TokenizerClassName}.",
            json);
    }
}
