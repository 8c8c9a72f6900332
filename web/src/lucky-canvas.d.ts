// Types for @lucky-canvas/react 0.1.13, which ships none: only what this page uses.
declare module '@lucky-canvas/react' {
  import type { Component } from 'react';

  export interface LuckyFont {
    text: string;
    top?: string | number;
    fontColor?: string;
    fontSize?: string;
    fontWeight?: string;
    lineHeight?: string;
    wordWrap?: boolean;
    lengthLimit?: string | number;
  }
  export interface LuckyImg {
    src: string;
    top?: string | number;
    width?: string;
    height?: string;
  }
  export interface LuckyBlock {
    padding?: string;
    background?: string;
    borderRadius?: string | number;
    imgs?: LuckyImg[];
  }
  export interface LuckyPrize {
    x?: number;
    y?: number;
    background?: string;
    borderRadius?: string | number;
    fonts?: LuckyFont[];
    imgs?: LuckyImg[];
    range?: number;
  }
  export interface LuckyButton extends LuckyPrize {
    radius?: string;
    pointer?: boolean;
  }
  export interface LuckyConfig {
    speed?: number;
    accelerationTime?: number;
    decelerationTime?: number;
    gutter?: number | string;
  }
  interface CommonProps {
    width: string | number;
    height: string | number;
    blocks?: LuckyBlock[];
    prizes: LuckyPrize[];
    buttons?: LuckyButton[];
    defaultConfig?: LuckyConfig;
    defaultStyle?: Record<string, string | number>;
    onStart?: () => void;
    onEnd?: (prize: LuckyPrize | undefined) => void;
  }
  export interface LuckyGridProps extends CommonProps {
    rows?: number;
    cols?: number;
    activeStyle?: Record<string, string | number>;
  }
  export class LuckyGrid extends Component<LuckyGridProps> {
    play(): void;
    stop(index?: number): void;
  }
  export class LuckyWheel extends Component<CommonProps> {
    play(): void;
    stop(index?: number): void;
  }
}
