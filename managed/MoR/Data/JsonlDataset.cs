using System.Text.Json;

namespace MoR.Data;

/// <summary>Reads a JSONL training file (one record per line; blank lines are skipped).</summary>
public static class JsonlDataset
{
    /// <summary>Encodes every record of <paramref name="path"/>.</summary>
    /// <exception cref="DataFormatException">A line is not valid JSON or not a usable record (names the file and line), or no record has a token that takes a loss.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static List<TokenizedExample> Read(string path, ExampleEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Data file '{path}' does not exist.", path);
        }

        var examples = new List<TokenizedExample>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using JsonDocument doc = JsonDocument.Parse(line, RecordShape.ParseOptions);
                examples.Add(encoder.Encode(line, doc.RootElement));
            }
            catch (JsonException e)
            {
                throw new DataFormatException(path, lineNumber, $"not valid JSON at byte {e.BytePositionInLine + 1}: {MoR.IO.JsonFile.Clean(e.Message)}", e);
            }
            catch (FormatException e)
            {
                throw new DataFormatException(path, lineNumber, e.Message, e);
            }
            catch (InvalidOperationException e)
            {
                throw new DataFormatException(path, lineNumber, e.Message, e);
            }
            catch (ArgumentException e)
            {
                // The chat template rejects unknown roles or misplaced system messages this way.
                throw new DataFormatException(path, lineNumber, e.Message, e);
            }
        }

        if (examples.Count == 0)
        {
            throw new DataFormatException(path, lineNumber, "the file holds no records.");
        }

        if (examples.All(e => e.LabelCount == 0))
        {
            // Training on it would run, log a loss of 0 and write an unchanged adapter.
            throw new DataFormatException(
                path, $"none of its {examples.Count} records has a token that takes a loss (every label is -100, or no conversation has an assistant turn): there is nothing to train on.");
        }

        return examples;
    }
}
