using MoR.Numerics;

namespace MoR.Tasks;

/// <summary>Random strings for the task generators.</summary>
internal static class TaskText
{
    public const string Lowercase = "abcdefghijklmnopqrstuvwxyz";

    public static string Random(SeededRandom rng, string alphabet, int minLength, int maxLength)
    {
        int length = minLength + rng.NextInt(maxLength - minLength + 1);
        char[] chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = alphabet[rng.NextInt(alphabet.Length)];
        }

        return new string(chars);
    }
}
