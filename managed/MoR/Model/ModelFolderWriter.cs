using System.Globalization;

namespace MoR.Model;

/// <summary>Writes a model folder so that readers never see a half-written one.</summary>
public static class ModelFolderWriter
{
    /// <summary>
    /// Saves <paramref name="model"/> (plus whatever <paramref name="addFiles"/> writes, e.g. tokenizer files) into a
    /// temporary folder beside <paramref name="directory"/>, then replaces <paramref name="directory"/> with it, so
    /// a cache or output folder is either the old one or the complete new one.
    /// </summary>
    public static void SaveReplacing(LlamaModel model, string directory, DType dtype, Action<string>? addFiles = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        string full = Path.GetFullPath(directory);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        if (Directory.Exists(temp))
        {
            Directory.Delete(temp, recursive: true);
        }

        model.Save(temp, dtype);
        addFiles?.Invoke(temp);
        if (Directory.Exists(full))
        {
            Directory.Delete(full, recursive: true);
        }

        Directory.Move(temp, full);
    }
}
