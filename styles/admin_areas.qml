<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.16-Białowieża" styleCategories="Symbology|Labeling" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0" labelsEnabled="1">
 <renderer-v2 type="categorizedSymbol" attr="level" forceraster="0" symbollevels="0" enableorderby="0" referencescale="-1">
  <categories>
   <category value="province" label="province" symbol="0" render="true" />
   <category value="district" label="district" symbol="1" render="true" />
   <category value="ward" label="ward" symbol="2" render="true" />
  </categories>
  <symbols>
   <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="0,0,0,0" type="QString" />
      <Option name="style" value="no" type="QString" />
      <Option name="outline_color" value="0,0,0,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.318" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="0,0,0,0" type="QString" />
      <Option name="style" value="no" type="QString" />
      <Option name="outline_color" value="51,51,51,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.318" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
   <symbol type="fill" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="0,0,0,0" type="QString" />
      <Option name="style" value="no" type="QString" />
      <Option name="outline_color" value="138,138,138,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.318" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
  </symbols>
  <source-symbol>
   <symbol type="fill" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="0,0,0,0" type="QString" />
      <Option name="style" value="no" type="QString" />
      <Option name="outline_color" value="68,68,68,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.318" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="joinstyle" value="round" type="QString" />
     </Option>
    </layer>
   </symbol>
  </source-symbol>
 </renderer-v2>
 <labeling type="simple">
  <settings calloutType="simple">
   <text-style fieldName="name" isExpression="0" fontFamily="DejaVu Sans" fontSize="8" fontSizeUnit="Point" textColor="34,34,34,255" textOpacity="1">
    <text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="0.8" />
   </text-style>
   <placement placement="1" dist="1" distUnits="MM" placementFlags="10" />
   <rendering scaleVisibility="1" scaleMin="0" scaleMax="136495" obstacle="1" drawLabels="1" />
  </settings>
 </labeling>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerGeometryType>2</layerGeometryType>
</qgis>
