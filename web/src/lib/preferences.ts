import { useLocalStorage } from "@mantine/hooks";

/** Per-browser preferences (never credentials): alert sound and desktop notifications for new messages. */
export function useAlertPreferences() {
  const [sound, setSound] = useLocalStorage<boolean>({ key: "wadesk-alert-sound", defaultValue: false });
  const [desktop, setDesktop] = useLocalStorage<boolean>({ key: "wadesk-desktop-notifications", defaultValue: false });
  return { sound, setSound, desktop, setDesktop };
}

let audio: AudioContext | null = null;

/** A short two-tone chime, synthesised (no sound file to ship). */
export function chime(): void {
  try {
    audio ??= new AudioContext();
    const now = audio.currentTime;
    [880, 1320].forEach((frequency, i) => {
      const osc = audio!.createOscillator();
      const gain = audio!.createGain();
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + i * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.15, now + i * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.12 + 0.25);
      osc.connect(gain).connect(audio!.destination);
      osc.start(now + i * 0.12);
      osc.stop(now + i * 0.12 + 0.3);
    });
  } catch {
    // Audio is a nicety: browsers may refuse it before the first user gesture.
  }
}
