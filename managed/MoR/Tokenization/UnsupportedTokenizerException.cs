namespace MoR.Tokenization;

/// <summary>A <c>tokenizer.json</c> component this library does not implement; the message says which and why.</summary>
/// <param name="message">What is not supported, phrased to follow "cannot be loaded: ".</param>
internal sealed class UnsupportedTokenizerException(string message) : Exception(message);
